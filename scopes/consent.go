package scopes

// Missing returns the scopes in requested that still need the user's
// consent, in request order and without repeats. These are the scopes
// not in remembered, plus offline_access whenever it is requested. A
// refresh token outlives the sign-in, so it is approved each time and
// never remembered. "offline", which fosite treats like offline_access,
// is handled the same way.
func Missing(requested, remembered []string) []string {
	have := make(map[string]bool, len(remembered))
	for _, s := range remembered {
		have[s] = true
	}

	var missing []string
	seen := make(map[string]bool, len(requested))
	for _, s := range requested {
		if seen[s] {
			continue
		}
		seen[s] = true
		if have[s] && s != OfflineAccess && s != offlineAlias {
			continue
		}
		missing = append(missing, s)
	}
	return missing
}
