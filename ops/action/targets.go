package action

import "sort"

// ScaleTargets are the targets scale accepts (api, consumer), for
// completion and help.
func ScaleTargets() []string {
	out := make([]string, 0, len(serviceDeployments))
	for t := range serviceDeployments {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
