package localcluster

import (
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const contextName = "localcluster"

// writeKubeconfig writes the admin kubeconfig, certificates inlined so the
// file works wherever it is copied to.
func writeKubeconfig(l layout, server string) error {
	ca, err := os.ReadFile(l.cert(certCA))
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(l.cert(certAdmin))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(l.key(certAdmin))
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	return clientcmd.WriteToFile(*cfg, l.kubeconfig())
}

// RestConfigFromKubeconfig loads a kubeconfig with client rate limits high
// enough for thousand-pod StatefulSets.
func RestConfigFromKubeconfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	cfg.QPS = ClientQPS
	cfg.Burst = ClientBurst
	return cfg, nil
}
