package local

// SetPortPicker replaces how components pick their ports until the returned
// restore is called. f gets the component name and the number of ports.
func SetPortPicker(f func(component string, n int) ([]int, error)) (restore func()) {
	old := portPicker
	portPicker = f
	return func() { portPicker = old }
}

// FreePorts exposes freePorts to the external tests.
var FreePorts = freePorts

// ListensOn exposes listensOn to the external tests.
var ListensOn = listensOn
