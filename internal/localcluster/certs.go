package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Certificate names under <state>/certs.
const (
	certCA            = "ca"
	certAPIServer     = "apiserver"
	certAdmin         = "admin"
	certKubeletClient = "kubelet-client"
	keyServiceAccount = "service-account"
)

// serviceIP is the first address of the service range, the in-cluster
// address of the API server, which its serving certificate must name.
const (
	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1"
)

// certAuthority is the cluster's only CA: it signs the API server's serving
// certificate and every client certificate, so one CA file verifies all.
type certAuthority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// pki is what a fresh cluster needs; generated at every start because the
// state directory never outlives the cluster.
type pki struct {
	ca *certAuthority
	// kubeletServing is the exec server's certificate, kept in memory only.
	kubeletServing tls.Certificate
}

// generatePKI writes the CA, the API server's serving certificate, the admin
// and kubelet-client certificates and the service-account key pair into dir.
// ECDSA keys because they generate in microseconds where RSA takes a second.
func generatePKI(l layout) (*pki, error) {
	if err := os.MkdirAll(l.certsDir(), 0o700); err != nil {
		return nil, err
	}
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	if err := writeCert(l, certCA, ca.cert.Raw, ca.key); err != nil {
		return nil, err
	}
	leaves := []struct {
		name string
		tmpl *x509.Certificate
	}{
		{certAPIServer, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceIP)},
		}},
		// system:masters makes the admin, and the components sharing its
		// kubeconfig, bypass RBAC and API priority and fairness.
		{certAdmin, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "localcluster-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		// The API server presents this to the exec server (the nodes' kubelet endpoint).
		{certKubeletClient, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver-kubelet-client"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
	}
	for _, leaf := range leaves {
		der, key, err := ca.issue(leaf.tmpl)
		if err != nil {
			return nil, err
		}
		if err := writeCert(l, leaf.name, der, key); err != nil {
			return nil, err
		}
	}
	if err := writeServiceAccountKeys(l); err != nil {
		return nil, err
	}
	der, key, err := ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "localcluster-kubelet"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	})
	if err != nil {
		return nil, err
	}
	return &pki{ca: ca, kubeletServing: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}, nil
}

func newCA() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localcluster-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: key}, nil
}

// issue signs tmpl with a fresh key; the caller sets subject, usages and SANs.
func (ca *certAuthority) issue(tmpl *x509.Certificate) ([]byte, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(10, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s: %w", tmpl.Subject.CommonName, err)
	}
	return der, key, nil
}

func (ca *certAuthority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func writeCert(l layout, name string, der []byte, key crypto.Signer) error {
	if err := os.WriteFile(l.cert(name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return writePrivateKey(l.key(name), key)
}

func writePrivateKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeServiceAccountKeys writes the key pair the API server signs and
// verifies service-account tokens with (ES256).
func writeServiceAccountKeys(l layout) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writePrivateKey(l.key(keyServiceAccount), key); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	return os.WriteFile(l.path("certs", keyServiceAccount+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}
