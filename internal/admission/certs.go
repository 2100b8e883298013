package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Keys of the serving certificate Secret: the kubernetes.io/tls pair and
// the CA that signed it, as cert-manager writes them, so the same
// Deployment works with either.
const (
	keyCert = corev1.TLSCertKey
	keyKey  = corev1.TLSPrivateKeyKey
	keyCA   = "ca.crt"
)

// Lifetimes of the self-managed certificate: a year, renewed when a third
// is left, checked every CheckInterval.
const (
	certLifetime  = 365 * 24 * time.Hour
	renewBefore   = certLifetime / 3
	CheckInterval = time.Hour
)

// CertKeeper keeps the webhook's serving certificate without cert-manager,
// as controller-runtime users do with cert-controller: a CA and a serving
// certificate it signs, kept in a Secret (so that every replica serves the
// same one, and a restart reuses it), written to Dir for the webhook
// server, the CA set as the caBundle of the ValidatingWebhookConfiguration.
// It renews both a third of a year before they expire. Every replica runs
// it (not only the leader): each serves the webhook.
type CertKeeper struct {
	// Client reads and writes the Secret and the webhook configuration
	// directly, without a cache.
	Client client.Client
	Secret types.NamespacedName
	// Hosts are the names and IP addresses the certificate is valid for:
	// the webhook Service's DNS names.
	Hosts []string
	// WebhookConfiguration names the ValidatingWebhookConfiguration whose
	// caBundle is set.
	WebhookConfiguration string
	// Dir receives tls.crt and tls.key, where the webhook server reads them
	// (and reloads them when they change).
	Dir string
	Now func() time.Time
}

// Start keeps the certificate current until ctx ends; a manager.Runnable.
// Ensure must have succeeded once before: the webhook server needs the
// files to start.
func (k *CertKeeper) Start(ctx context.Context) error {
	ticker := time.NewTicker(CheckInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := k.Ensure(ctx); err != nil {
				logf.FromContext(ctx).Error(err, "Failed to renew the webhook's serving certificate", "secret", k.Secret)
			}
		}
	}
}

// NeedLeaderElection is false: every replica serves the webhook.
func (k *CertKeeper) NeedLeaderElection() bool { return false }

// Ensure makes the Secret hold a certificate valid for Hosts for more than
// renewBefore, writes it to Dir and the CA to the webhook configuration.
func (k *CertKeeper) Ensure(ctx context.Context) error {
	secret, err := k.current(ctx)
	if err != nil {
		return err
	}
	if err := k.write(secret); err != nil {
		return err
	}
	return k.injectCA(ctx, secret.Data[keyCA])
}

// current returns the Secret, renewed first when its certificate does not
// do. Replicas racing to create or renew it settle on the first write: a
// loser reads the winner's.
func (k *CertKeeper) current(ctx context.Context) (*corev1.Secret, error) {
	log := logf.FromContext(ctx).WithValues("secret", k.Secret)
	for range 3 {
		var secret corev1.Secret
		err := k.Client.Get(ctx, k.Secret, &secret)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("read the webhook certificate: %w", err)
		}
		found := err == nil
		if found && k.valid(secret.Data) {
			return &secret, nil
		}
		data, err := k.generate()
		if err != nil {
			return nil, err
		}
		if !found {
			secret = corev1.Secret{Type: corev1.SecretTypeTLS}
			secret.Namespace, secret.Name = k.Secret.Namespace, k.Secret.Name
			secret.Data = data
			err = k.Client.Create(ctx, &secret)
		} else {
			secret.Data = data
			err = k.Client.Update(ctx, &secret)
		}
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
			continue // another replica wrote it: use theirs
		}
		if err != nil {
			return nil, fmt.Errorf("write the webhook certificate: %w", err)
		}
		log.Info("Issued the webhook's serving certificate", "hosts", k.Hosts, "renewed", found)
		return &secret, nil
	}
	return nil, errors.New("write the webhook certificate: kept conflicting with other writers")
}

// valid reports whether data holds a certificate for every host, signed by
// the CA beside it, with more than renewBefore left.
func (k *CertKeeper) valid(data map[string][]byte) bool {
	if _, err := tlsPair(data); err != nil {
		return false
	}
	cert, err := parseCert(data[keyCert])
	if err != nil || k.Now().Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data[keyCA]) {
		return false
	}
	for _, host := range k.Hosts {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, CurrentTime: k.Now()}); err != nil {
			return false
		}
	}
	return true
}

// generate issues a new CA and a serving certificate signed by it. The
// CA's key is not kept: the next renewal issues a new CA too.
func (k *CertKeeper) generate() (map[string][]byte, error) {
	now := k.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "sroll webhook CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serving := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: k.Hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, host := range k.Hosts {
		if ip := net.ParseIP(host); ip != nil {
			serving.IPAddresses = append(serving.IPAddresses, ip)
		} else {
			serving.DNSNames = append(serving.DNSNames, host)
		}
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, serving, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		keyCA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		keyCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// write puts the pair in Dir, each file replaced in one rename so the
// webhook server never reads half a file.
func (k *CertKeeper) write(secret *corev1.Secret) error {
	if err := os.MkdirAll(k.Dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{keyKey, keyCert} {
		path := filepath.Join(k.Dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, secret.Data[name]) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, secret.Data[name], 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}

// injectCA sets the caBundle of every webhook of the configuration.
func (k *CertKeeper) injectCA(ctx context.Context, ca []byte) error {
	var config admissionregistrationv1.ValidatingWebhookConfiguration
	if err := k.Client.Get(ctx, types.NamespacedName{Name: k.WebhookConfiguration}, &config); err != nil {
		return fmt.Errorf("read ValidatingWebhookConfiguration %s: %w", k.WebhookConfiguration, err)
	}
	patched := config.DeepCopy()
	for i := range patched.Webhooks {
		patched.Webhooks[i].ClientConfig.CABundle = ca
	}
	if slices.EqualFunc(config.Webhooks, patched.Webhooks, func(a, b admissionregistrationv1.ValidatingWebhook) bool {
		return bytes.Equal(a.ClientConfig.CABundle, b.ClientConfig.CABundle)
	}) {
		return nil
	}
	if err := k.Client.Patch(ctx, patched, client.MergeFrom(&config)); err != nil {
		return fmt.Errorf("set the caBundle of ValidatingWebhookConfiguration %s: %w", k.WebhookConfiguration, err)
	}
	logf.FromContext(ctx).Info("Set the webhook configuration's caBundle", "validatingWebhookConfiguration", k.WebhookConfiguration)
	return nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// tlsPair checks that the certificate and key belong together.
func tlsPair(data map[string][]byte) (tls.Certificate, error) {
	return tls.X509KeyPair(data[keyCert], data[keyKey])
}
