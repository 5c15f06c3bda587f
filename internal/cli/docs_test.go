package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rstscope/rstscope/internal/testenv"
)

// helpDocs are the documents whose help blocks TestDocsHelp checks, from
// the repository's root; cliDoc is the one that must show every command.
var (
	helpDocs = []string{"README.md", "docs/*.md"}
	cliDoc   = "docs/cli.md"
)

// helpBlock matches one help block of a document:
//
//	<!-- help: read -->
//	```text
//	$ rstscope read --help
//	...
//	```
//	<!-- end help -->
//
// The marker names the command as typed after "rstscope" ("read", "live");
// "rstscope" alone is the root command. Group 1 is the name, group 2 what
// lies between the markers.
var helpBlock = regexp.MustCompile("(?s)<!-- help:([^>]*)-->\n(.*?)<!-- end help -->")

// helpFence renders what a help block holds for the command words (nil for
// the root): the command line, then the help text, as `rstscope ... --help`
// prints it, in a text fence.
func helpFence(t *testing.T, words []string) string {
	t.Helper()
	args := append(slices.Clone(words), "--help")
	code, out, errs := run(t, nil, args...)
	if code != ExitOK || errs != "" {
		t.Fatalf("rstscope %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	cmdline := strings.Join(append([]string{"$ rstscope"}, args...), " ")
	return "```text\n" + cmdline + "\n" + strings.TrimRight(out, "\n") + "\n```\n"
}

// helpWords turns a marker's name into the command's words: "read" and
// "rstscope read" are both ["read"], "rstscope" is the root (nil).
func helpWords(name string) []string {
	words := strings.Fields(name)
	if len(words) > 0 && words[0] == "rstscope" {
		words = words[1:]
	}
	return words
}

// subcommands lists the commands the root's help offers, but "help".
func subcommands(rootHelp string) []string {
	_, list, ok := strings.Cut(rootHelp, "Available Commands:\n")
	if !ok {
		return nil
	}
	var names []string
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			break
		}
		if f[0] != "help" {
			names = append(names, f[0])
		}
	}
	return names
}

// TestDocsHelp checks that every help text shown in README.md and docs/ is
// what the binary prints, and that docs/cli.md shows the root's and every
// command's. After a change in flags or help texts, run
// `go test ./internal/cli -run TestDocsHelp -update`: it rewrites the blocks
// in place (and appends a missing command's to docs/cli.md).
func TestDocsHelp(t *testing.T) {
	root := filepath.Join("..", "..")
	var files []string
	for _, pat := range helpDocs {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	shown := map[string]bool{} // command words, space-joined, that a block of cliDoc shows
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		n, m := strings.Count(text, "<!-- help:"), strings.Count(text, "<!-- end help -->")
		if blocks := len(helpBlock.FindAllStringIndex(text, -1)); n != m || n != blocks {
			t.Errorf("%s: %d help markers, %d end markers, %d well-formed blocks (a marker is a line of its own)", file, n, m, blocks)
			continue
		}
		isCLI := file == filepath.Join(root, cliDoc)
		var bad []string
		updated := helpBlock.ReplaceAllStringFunc(text, func(block string) string {
			sub := helpBlock.FindStringSubmatch(block)
			words := helpWords(sub[1])
			if isCLI {
				shown[strings.Join(words, " ")] = true
			}
			want := helpFence(t, words)
			if sub[2] != want {
				bad = append(bad, fmt.Sprintf("%q (-document +binary):\n%s", strings.TrimSpace(sub[1]), testenv.LineDiff(sub[2], want)))
			}
			return "<!-- help:" + sub[1] + "-->\n" + want + "<!-- end help -->"
		})
		if isCLI && *update {
			updated += missingHelp(t, shown)
		}
		switch {
		case *update && updated != text:
			if err := os.WriteFile(file, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
		case !*update && len(bad) > 0:
			t.Errorf("%s: help text differs from the binary's (run `go test ./internal/cli -run TestDocsHelp -update` and review the diff):\n%s",
				file, strings.Join(bad, "\n"))
		}
	}
	if *update {
		return
	}
	for _, words := range append([]string{""}, subcommands(helpOf(t))...) {
		if !shown[words] {
			t.Errorf("%s shows no help block for %q (run with -update to append one)", cliDoc, strings.TrimSpace("rstscope "+words))
		}
	}
}

// helpOf returns the root command's help text.
func helpOf(t *testing.T) string {
	t.Helper()
	_, out, _ := run(t, nil, "--help")
	return out
}

// missingHelp returns a section for each command whose help cliDoc does not
// show yet, and marks it shown.
func missingHelp(t *testing.T, shown map[string]bool) string {
	t.Helper()
	var b strings.Builder
	for _, words := range append([]string{""}, subcommands(helpOf(t))...) {
		if shown[words] {
			continue
		}
		shown[words] = true
		name := strings.TrimSpace("rstscope " + words)
		fmt.Fprintf(&b, "\n## `%s`\n\n<!-- help: %s -->\n%s<!-- end help -->\n", name, name, helpFence(t, strings.Fields(words)))
	}
	return b.String()
}
