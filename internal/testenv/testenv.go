// Package testenv holds what the project's tests share: the rule that
// privileged tests skip for a user without root but fail in CI, where a
// silent skip would hide that the real-network tests stopped running, a
// line diff for golden files, and a finder of the pointer fields that make a
// type scanned by the garbage collector.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
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

// LineDiff lists the lines where got differs from want, each as
// "line N:\n-want\n+got", for golden-file tests.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// PointerFields returns the path of every field of typ (walking structs and
// arrays) whose kind holds a pointer the garbage collector follows: pointers,
// slices, maps, channels, funcs, interfaces and strings. A type with none is
// noscan memory for the collector.
func PointerFields(name string, typ reflect.Type) []string {
	var out []string
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(path+"."+typ.Field(i).Name, typ.Field(i).Type)
			}
		case reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.Map,
			reflect.Chan, reflect.Func, reflect.Interface, reflect.String:
			out = append(out, path+" is a "+typ.Kind().String()+" ("+typ.String()+")")
		}
	}
	walk(name, typ)
	return out
}
