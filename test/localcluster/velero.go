package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/rempart-io/rempart/test/manifests"
)

// VeleroNamespace is where the local Velero runs and keeps its objects.
const VeleroNamespace = "velero"

// VeleroOptions configure the local Velero and its object store.
type VeleroOptions struct {
	// CRDDirs hold Velero's CRDs (the module's config/crd/v1/bases and v2alpha1/bases).
	CRDDirs []string
	// Region the store answers for, and the BackupStorageLocation's config.region.
	Region string
	// LocationName of the BackupStorageLocation; "default" when empty.
	LocationName string
}

// Velero is the local Velero server and its S3-compatible store.
type Velero struct {
	// S3URL is the store's address on loopback.
	S3URL string
	// StoreDir is the directory the store keeps its buckets in (one folder per bucket).
	StoreDir string
	// Location is the name of the BackupStorageLocation.
	Location string
	// Bucket the location writes to.
	Bucket string
	// EvidenceBucket holds the operators' evidence logs, created with Object Lock.
	EvidenceBucket string
	// CredentialsFile is an AWS shared credentials file for the store, Velero's and the
	// operator's.
	CredentialsFile string
	// Region the store answers for.
	Region string
}

// StartVelero runs versitygw (an S3 store over a directory) on loopback and Velero's server with
// its AWS plugin against this cluster, as administrator, with one BackupStorageLocation on the
// store. Everything is built with the control plane (hack/tools/velero). Velero's node agents
// are not run: Kubernetes objects back up and restore for real, volume data does not.
func (c *Cluster) StartVelero(ctx context.Context, o VeleroOptions) (*Velero, error) {
	if o.LocationName == "" {
		o.LocationName = "default"
	}
	veleroBin, err := newestBinary(c.opts.BinDir, "velero-v")
	if err != nil {
		return nil, err
	}
	gwBin, err := newestBinary(c.opts.BinDir, "versitygw-v")
	if err != nil {
		return nil, err
	}
	pluginDirs, err := filepath.Glob(filepath.Join(c.opts.BinDir, "velero-plugins-v*"))
	if err != nil || len(pluginDirs) == 0 {
		return nil, fmt.Errorf("no Velero plugin directory in %s: run `make controlplane`", c.opts.BinDir)
	}
	sort.Strings(pluginDirs)

	v := &Velero{StoreDir: filepath.Join(filepath.Dir(c.logDir), "s3"), Location: o.LocationName, Bucket: "velero"}
	if err := os.RemoveAll(v.StoreDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(v.StoreDir, v.Bucket), 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	const accessKey, secretKey = "rempart-local", "rempart-local-secret"
	v.S3URL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	c.step("starting the S3 store (" + filepath.Base(gwBin) + ") on " + v.S3URL)
	if err := c.runBinary("versitygw", gwBin, []string{"--port", "127.0.0.1:" + strconv.Itoa(ports[0]), "--region", o.Region, "posix", v.StoreDir},
		[]string{"ROOT_ACCESS_KEY=" + accessKey, "ROOT_SECRET_KEY=" + secretKey}); err != nil {
		return nil, err
	}
	if err := c.poll(ctx, "the S3 store", time.Minute, func(ctx context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(ports[0]), time.Second)
		if err != nil {
			return false, err
		}
		conn.Close()
		return true, nil
	}); err != nil {
		return nil, err
	}

	cl, err := c.Client()
	if err != nil {
		return nil, err
	}
	for _, dir := range o.CRDDirs {
		if err := installDir(ctx, cl, dir); err != nil {
			return nil, fmt.Errorf("install Velero's CRDs: %w", err)
		}
	}
	if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: VeleroNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", VeleroNamespace, err)
	}
	credentials := fmt.Sprintf("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n", accessKey, secretKey)
	credFile := filepath.Join(filepath.Dir(c.logDir), "velero-credentials")
	if err := os.WriteFile(credFile, []byte(credentials), 0o600); err != nil {
		return nil, err
	}
	v.CredentialsFile, v.Region = credFile, o.Region
	// The evidence log's bucket, with Object Lock as FT-CLD-28 wants it; every operator started
	// from now on writes there.
	v.EvidenceBucket = "rempart-evidence"
	if err := createLockedBucket(ctx, v.S3URL, o.Region, accessKey, secretKey, v.EvidenceBucket); err != nil {
		return nil, err
	}
	c.operatorArgs = append(c.operatorArgs, "--evidence-bucket="+v.EvidenceBucket, "--evidence-s3-url="+v.S3URL,
		"--evidence-region="+o.Region, "--evidence-credentials-file="+credFile)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cloud-credentials", Namespace: VeleroNamespace}, StringData: map[string]string{"cloud": credentials}}
	if err := cl.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create Velero's credentials: %w", err)
	}
	bsl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
		"metadata": map[string]any{"name": o.LocationName, "namespace": VeleroNamespace},
		"spec": map[string]any{
			"provider": "aws", "default": true,
			"objectStorage": map[string]any{"bucket": v.Bucket},
			"credential":    map[string]any{"name": "cloud-credentials", "key": "cloud"},
			"config":        map[string]any{"region": o.Region, "s3ForcePathStyle": "true", "s3Url": v.S3URL},
		},
	}}
	if err := cl.Create(ctx, bsl); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create the backup storage location: %w", err)
	}

	// An installed Velero runs as the Deployment "velero", and its restore actions read that
	// Deployment (for the restore helper's image). Here the server runs beside the cluster: a
	// Deployment scaled to zero describes it.
	version := strings.TrimPrefix(filepath.Base(veleroBin), "velero-")
	if err := cl.Create(ctx, veleroDeployment(version)); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create the velero Deployment: %w", err)
	}
	c.step("starting Velero (" + filepath.Base(veleroBin) + ") with its AWS plugin")
	args := []string{"server", "--kubeconfig=" + c.Kubeconfig, "--namespace=" + VeleroNamespace,
		"--plugin-dir=" + pluginDirs[len(pluginDirs)-1], "--default-backup-storage-location=" + o.LocationName,
		"--metrics-address=127.0.0.1:" + strconv.Itoa(ports[1]), "--profiler-address=127.0.0.1:" + strconv.Itoa(ports[2]),
		"--store-validation-frequency=10s", "--log-level=info"}
	if err := c.runBinary("velero", veleroBin, args, []string{"AWS_SHARED_CREDENTIALS_FILE=" + credFile, "VELERO_NAMESPACE=" + VeleroNamespace}); err != nil {
		return nil, err
	}
	err = c.poll(ctx, "the backup storage location to be Available", 2*time.Minute, func(ctx context.Context) (bool, error) {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("velero.io/v1")
		got.SetKind("BackupStorageLocation")
		if err := cl.Get(ctx, client.ObjectKey{Namespace: VeleroNamespace, Name: o.LocationName}, got); err != nil {
			return false, err
		}
		phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
		return phase == "Available", fmt.Errorf("phase %q", phase)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// createLockedBucket creates a bucket with Object Lock through the S3 API (a folder made by hand
// would have none).
func createLockedBucket(ctx context.Context, url, region, accessKey, secretKey, bucket string) error {
	s3c := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("create the evidence bucket %s with Object Lock: %w", bucket, err)
	}
	return nil
}

// veleroDeployment describes the out-of-cluster Velero server as an installation would, with no
// replica.
func veleroDeployment(version string) *appsv1.Deployment {
	labels := map[string]string{"component": "velero", "deploy": "velero"}
	zero := int32(0)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "velero", Namespace: VeleroNamespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "velero", Image: "velero/velero:" + version, Args: []string{"server"}}}},
			},
		},
	}
}

// installDir applies every YAML file of a directory.
func installDir(ctx context.Context, cl client.Client, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		objs, err := manifests.File(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := manifests.Apply(ctx, cl, objs, "rempart-install", false); err != nil {
			return fmt.Errorf("install %s: %w", e.Name(), err)
		}
	}
	return nil
}

// newestBinary finds a binary in the control plane directory named after its version.
func newestBinary(binDir, prefix string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(binDir, prefix+"*"))
	if err != nil || len(matches) == 0 {
		return "", fmt.Errorf("no %s* in %s: run `make controlplane`", prefix, binDir)
	}
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}
