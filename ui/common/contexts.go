package common

// ContextInfo is one context of the config as the :ctx view lists it.
type ContextInfo struct {
	Name     string
	ReadOnly bool
	// Regions primary first, and the kube context of each ("" when a region
	// has no cluster or uses its kubeconfig's current context).
	Regions      []string
	KubeContexts []string
}

// SwitchContextMsg asks the root to open the console on another context.
type SwitchContextMsg struct{ Name string }

// ContextsShownMsg asks the :ctx view to check which contexts answer; the
// root sends it each time the view is opened.
type ContextsShownMsg struct{}

// ViewName routes the message to the :ctx view.
func (ContextsShownMsg) ViewName() string { return "ctx" }
