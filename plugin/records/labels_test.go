package records

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	long := "hello" + strings.Repeat("-", 56) + "f"
	tests := []struct {
		in     string
		rfc952 bool
		want   string
	}{
		{"web", false, "web"},
		{"Web_App.v2", false, "web-app-v2"},
		{"ChronosWithASpace AndMixedCase-2.0.1", false, "chronoswithaspaceandmixedcase-2-0-1"},
		{"--a--", false, "a"},
		{"$@/", false, ""},
		{"héllo wörld", false, "hllowrld"},
		{"123abc", false, "123abc"},
		{"123abc", true, "abc"},
		{"1-2-abc", true, "abc"},
		{"1234", true, ""},
		{long, true, "hellof"},
		{long, false, "hello" + strings.Repeat("-", 56) + "f"},
		{strings.Repeat("a", 70), false, strings.Repeat("a", 63)},
		{strings.Repeat("a", 30), true, strings.Repeat("a", 24)},
		{strings.Repeat("a", 62) + "-bc", false, strings.Repeat("a", 62) + "b"},
		{"ab-cd", false, "ab-cd"},
	}
	for _, tc := range tests {
		got := labeler{tc.rfc952}.label(tc.in)
		if got != tc.want {
			t.Errorf("label(%q, rfc952=%v) = %q, want %q", tc.in, tc.rfc952, got, tc.want)
		}
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		in     string
		rfc952 bool
		want   string
	}{
		{"marathon", false, "marathon"},
		{"marathon.prod", false, "marathon.prod"},
		{"Marathon..Prod.", false, "marathon.prod"},
		{"app.1234.group", true, "app.group"},
		{"app.1234.group", false, "app.1234.group"},
		{"a b.c$d", false, "ab.cd"},
		{"...", false, ""},
	}
	for _, tc := range tests {
		got := labeler{tc.rfc952}.labels(tc.in)
		if got != tc.want {
			t.Errorf("labels(%q, rfc952=%v) = %q, want %q", tc.in, tc.rfc952, got, tc.want)
		}
	}
}

func TestTaskHash(t *testing.T) {
	if got := TaskHash("test"); got != "iffe9" {
		t.Fatalf("TaskHash(test) = %q, want iffe9 (naming.md test vector)", got)
	}
	if TaskHash("a") == TaskHash("b") {
		t.Fatal("distinct ids hash alike")
	}
}

func TestCut(t *testing.T) {
	if got := cut("abc-def", 4); got != "abc" {
		t.Errorf("cut = %q", got)
	}
	if got := cut("abc", 10); got != "abc" {
		t.Errorf("cut = %q", got)
	}
}

// checkLabel asserts the invariants every emitted label keeps.
func checkLabel(t *testing.T, l labeler, in, out string) {
	t.Helper()
	if len(out) > l.limit() {
		t.Fatalf("label(%q) = %q: %d octets", in, out, len(out))
	}
	if out == "" {
		return
	}
	if out[0] == '-' || out[len(out)-1] == '-' {
		t.Fatalf("label(%q) = %q: leading or trailing dash", in, out)
	}
	if l.rfc952 && out[0] >= '0' && out[0] <= '9' {
		t.Fatalf("label(%q) = %q: leading digit under RFC 952", in, out)
	}
	for i := range len(out) {
		c := out[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			t.Fatalf("label(%q) = %q: byte %q", in, out, c)
		}
	}
	if l.label(out) != out {
		t.Fatalf("label is not idempotent on %q", out)
	}
}

func FuzzLabel(f *testing.F) {
	for _, s := range []string{"web", "Web_App.v2", "hello" + strings.Repeat("-", 56) + "f", "123abc", "héllo", "", "a.b.c", "parent-pod.instance-da6ef080-b81f-11e7-a9ac-52ad791ffaa8.container-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range []labeler{{false}, {true}} {
			checkLabel(t, l, s, l.label(s))
			ls := l.labels(s)
			if len(ls) > len(s) {
				t.Fatalf("labels(%q) = %q grew", s, ls)
			}
			if ls != "" {
				for p := range strings.SplitSeq(ls, ".") {
					if p == "" {
						t.Fatalf("labels(%q) = %q: empty label", s, ls)
					}
					checkLabel(t, l, s, p)
				}
			}
		}
	})
}
