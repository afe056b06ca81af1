package evidencelog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rempart-io/rempart/controllers/apply"
	"github.com/rempart-io/rempart/internal/evidence"
)

// The Secret holding the signing key, in the operator's namespace, and its field.
const (
	KeySecretName   = "rempart-evidence-signing-key"
	privateKeyField = "private.pem"
)

// SigningKey reads the operator's signing key from its Secret, creating a new ed25519 key there
// the first time. reader is uncached (the operator watches no Secret); the Secret is readable by
// the operator alone (its Role names it).
func SigningKey(ctx context.Context, reader client.Reader, writer client.Client, namespace string) (ed25519.PrivateKey, error) {
	key := client.ObjectKey{Namespace: namespace, Name: KeySecretName}
	var secret corev1.Secret
	err := reader.Get(ctx, key, &secret)
	if apierrors.IsNotFound(err) {
		_, priv, genErr := ed25519.GenerateKey(rand.Reader)
		if genErr != nil {
			return nil, genErr
		}
		der, mErr := x509.MarshalPKCS8PrivateKey(priv)
		if mErr != nil {
			return nil, mErr
		}
		secret = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: KeySecretName, Namespace: namespace, Labels: apply.ManagedLabels()},
			Type:       corev1.SecretTypeOpaque,
			Immutable:  ptrTrue(),
			Data:       map[string][]byte{privateKeyField: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})},
		}
		err = writer.Create(ctx, &secret)
		if apierrors.IsAlreadyExists(err) {
			// Another replica made it first: use its key.
			err = reader.Get(ctx, key, &secret)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read the evidence signing key %s: %w", key, err)
	}
	return parsePrivateKey(secret.Data[privateKeyField])
}

func parsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("the Secret %s holds no PEM key under %s", KeySecretName, privateKeyField)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse the evidence signing key: %w", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("the evidence signing key is not an ed25519 key")
	}
	return priv, nil
}

// PublishPublicKey puts the public key, its ID and the store in a ConfigMap of the operator's
// namespace, for auditors who read neither the reports nor the Secret.
func PublishPublicKey(ctx context.Context, reader client.Reader, writer client.Client, namespace string, status PublicInfo) error {
	desired := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: evidence.ConfigMapName, Namespace: namespace, Labels: apply.ManagedLabels()},
		Data: map[string]string{evidence.PublicKeyField: status.PublicKey, evidence.KeyIDField: status.KeyID, evidence.StoreField: status.Store,
			evidence.BucketField: status.Bucket, evidence.PrefixField: status.Prefix, evidence.URLField: status.URL, evidence.RegionField: status.Region},
	}
	var existing corev1.ConfigMap
	err := reader.Get(ctx, client.ObjectKeyFromObject(desired), &existing)
	switch {
	case apierrors.IsNotFound(err):
		err = writer.Create(ctx, desired)
	case err == nil && !equalData(existing.Data, desired.Data):
		existing.Data = desired.Data
		err = writer.Update(ctx, &existing)
	}
	if err != nil {
		return fmt.Errorf("publish the evidence public key in ConfigMap %s/%s: %w", namespace, evidence.ConfigMapName, err)
	}
	return nil
}

// PublicInfo is what is published of the log: the key, and where the entries are.
type PublicInfo struct{ PublicKey, KeyID, Store, Bucket, Prefix, URL, Region string }

func equalData(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func ptrTrue() *bool { t := true; return &t }
