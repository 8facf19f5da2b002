package local

// SetKubeFreePorts replaces how the kube component picks its ports until
// the returned restore is called.
func SetKubeFreePorts(f func(n int) ([]int, error)) (restore func()) {
	old := kubeFreePorts
	kubeFreePorts = f
	return func() { kubeFreePorts = old }
}

// FreePorts exposes freePorts to the external tests.
var FreePorts = freePorts
