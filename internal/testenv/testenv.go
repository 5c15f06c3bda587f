// Package testenv holds what the project's privileged tests share: the
// rule that they skip for a user without root but fail in CI, where a
// silent skip would hide that the real-network tests stopped running.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRoot skips t unless it runs as root with every named tool on the
// PATH; when the environment variable CI is set it fails t instead.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root, and CI is set: privileged tests must run in CI")
		}
		t.Skip("needs root (network namespaces, packet sockets)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("needs %s, and CI is set", tool)
			}
			t.Skipf("needs %s", tool)
		}
	}
}
