package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rstscope/rstscope/capture"
)

// readArgs splits read's arguments into capture files and a BPF filter,
// as tcpdump does with `tcpdump -r FILE EXPRESSION`: the files come first,
// and the first argument that is neither an existing file nor "-" begins
// the filter, which is every remaining argument joined by spaces. After an
// explicit -- every argument is the filter, and with --filter every
// argument is a file.
//
// dash is cobra's ArgsLenAtDash (-1 without --); flagFilter is --filter's
// value. The error is a usage error for a filter libpcap rejects, for a
// filter given twice or for no file; a plain error (exit status 1) for a
// file that does not exist, such as a single trailing word that is not a
// filter either. Either comes before anything is read.
func readArgs(args []string, dash int, flagFilter string) (files []string, filter string, err error) {
	var words []string
	switch {
	case dash >= 0:
		files, words = args[:dash], args[dash:]
	case flagFilter != "":
		files = args
	default:
		i := 0
		for i < len(args) && isFile(args[i]) {
			i++
		}
		files, words = args[:i], args[i:]
	}
	switch {
	case len(words) > 0 && flagFilter != "":
		return nil, "", usagef("give the filter either with --filter or after --, not both")
	case len(words) > 0:
		filter = strings.Join(words, " ")
		if err := trailingFilter(filter, words, dash >= 0); err != nil {
			return nil, "", err
		}
	case flagFilter != "":
		if err := checkFilter(flagFilter, true); err != nil {
			return nil, "", err
		}
		filter = flagFilter
	}
	if len(files) == 0 {
		if filter != "" && flagFilter == "" {
			return nil, "", usagef("no capture file given before the filter %q (use - for standard input)", filter)
		}
		return nil, "", usagef("no capture file given (use - for standard input)")
	}
	for _, name := range files {
		if name == "-" {
			continue
		}
		if _, err := os.Stat(name); err != nil {
			return nil, "", statError(err)
		}
	}
	return files, filter, nil
}

// trailingFilter checks the filter made of the words after the files.
// Words that do not compile and look like a file name (one word, or one
// ending like a capture, or a path) are a missing file.
func trailingFilter(expr string, words []string, explicit bool) error {
	var ferr *capture.FilterError
	err := capture.CheckFilter(expr)
	if !errors.As(err, &ferr) {
		return err
	}
	if explicit {
		return filterError(ferr, false)
	}
	if len(words) == 1 || looksLikeCapture(words[0]) {
		if _, err := os.Stat(words[0]); err != nil {
			return statError(err)
		}
	}
	return usagef("%q is neither a capture file nor a valid BPF filter: %v; put a filter after -- "+
		"(rstscope read FILE... -- FILTER)", expr, ferr.Err)
}

// isFile tells whether arg names a capture file to read: "-" for standard
// input, or a path that exists (or that the process may not look at: its
// error is then reported when it is opened).
func isFile(arg string) bool {
	if arg == "-" {
		return true
	}
	_, err := os.Stat(arg)
	return !errors.Is(err, fs.ErrNotExist)
}

// looksLikeCapture tells whether word reads as a file name rather than as a
// filter word: a path, or a capture's usual extension.
func looksLikeCapture(word string) bool {
	if strings.ContainsRune(word, os.PathSeparator) {
		return true
	}
	switch strings.ToLower(filepath.Ext(word)) {
	case ".pcap", ".pcapng", ".cap", ".gz", ".dmp":
		return true
	}
	return false
}

// statError renders an os.Stat error as "x.pcap: no such file or
// directory".
func statError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return errors.New(pe.Path + ": " + pe.Err.Error())
	}
	return err
}
