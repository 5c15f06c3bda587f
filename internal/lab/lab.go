package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// BuildLabnode compiles the labnode program into dir and returns its path.
// modRoot is the module's root directory.
func BuildLabnode(ctx context.Context, modRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "labnode")
	cmd := []string{"go", "build", "-o", bin, "./internal/lab/labnode"}
	if out, err := runIn(ctx, modRoot, cmd...); err != nil {
		return "", fmt.Errorf("build labnode: %w: %s", err, out)
	}
	return bin, nil
}

// runIn runs a command in a directory.
func runIn(ctx context.Context, dir string, args ...string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if dir != "" && dir != wd {
		args = append([]string{"env", "-C", dir}, args...)
	}
	return run(ctx, args...)
}

// RunAll runs scenarios one after another in their own subdirectories of
// out, and returns every result, stopping at the first scenario the lab could
// not run. Scenarios whose Name is not accepted by keep are skipped.
func (t *Topology) RunAll(ctx context.Context, scenarios []Scenario, out string, keep func(string) bool) ([]*Result, error) {
	var results []*Result
	for _, s := range scenarios {
		if keep != nil && !keep(s.Name) {
			continue
		}
		res, err := t.Run(ctx, s, filepath.Join(out, s.Name))
		if err != nil {
			return results, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		results = append(results, res)
	}
	return results, nil
}

// Exported lists the vantages whose captures Export copies for a scenario:
// the client and the router's client-facing side (pcapng) always, the
// server too when an injector forges RSTs toward it, and all four behind a
// NAT (two 5-tuples for one connection) or with ExportAll.
func Exported(s Scenario) []Vantage {
	if s.NAT != "" || s.ExportAll {
		return Vantages
	}
	vs := []Vantage{AtClient, AtRouterIn}
	if s.Injector != nil {
		vs = append(vs, AtServer)
	}
	return vs
}

// Export copies the Exported captures of a run and their truth files into
// dir.
func Export(res *Result, dir string) error {
	for _, v := range Exported(res.Scenario) {
		for _, name := range []string{res.Scenario.CaptureFile(v), res.Scenario.TruthFile(v)} {
			if err := copyFile(filepath.Join(res.Dir, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadResult reads back a scenario run that Run wrote into dir: its
// captures stay there, the truth is read from its truth files. Counters,
// logs and the injector's log are not kept on disk and stay empty.
func LoadResult(s Scenario, dir string) (*Result, error) {
	res := &Result{Scenario: s, Dir: dir, Truth: map[Vantage][]TruthRow{}}
	for _, v := range Vantages {
		rows, err := ReadTruth(filepath.Join(dir, s.TruthFile(v)))
		if err != nil {
			return nil, err
		}
		res.Truth[v] = rows
	}
	return res, nil
}
