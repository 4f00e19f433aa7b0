package master

import "strings"

// RedactURL hides the password of a URL-like value in a message:
// "zk://user:pass@host/path" becomes "zk://user:xxxxx@host/path", as url.URL's
// Redacted does, also when the password holds a '/' or an '@', which url.Parse takes
// for the path or refuses. The Corefile's masters and -from-config's values share it.
func RedactURL(s string) string {
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, rest = s[:i+3], s[i+3:]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return s
	}
	return prefix + user + ":xxxxx@" + rest[at+1:]
}
