package cli

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rstscope/rstscope/report"
)

// viewFlags choose what the report shows: the unit of its list, which
// events, the time zone, extra ladders.
type viewFlags struct {
	rsts    bool
	origins []string
	causes  []string
	servers []string
	tz      string
	frames  []uint // read: --ladder

	// set by check
	filter  report.Filter
	loc     *time.Location
	ladders []uint64
}

func (v *viewFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&v.rsts, "rsts", false, "table, markdown, html: list every RST, not every reset event (json and csv always do)")
	fl.StringSliceVar(&v.origins, "origin", nil, "report only the events whose first RST has this origin: server, client, middlebox, unknown (repeatable)")
	fl.StringSliceVar(&v.causes, "cause", nil, "report only the events whose first RST has this cause, e.g. injected, idle_timeout (repeatable)")
	fl.StringSliceVar(&v.servers, "server", nil, "report only the events with this server: an address, address:port or prefix (repeatable)")
	fl.StringVar(&v.tz, "tz", "UTC", `time zone of the times shown: UTC, "local", or a name such as Europe/Paris (json and csv stay in UTC)`)
}

// check parses the values; a bad one is a usage error naming its flag.
func (v *viewFlags) check() error {
	v.filter = report.Filter{}
	for _, o := range v.origins {
		x, err := report.ParseOrigin(o)
		if err != nil {
			return usagef("--origin: %v", err)
		}
		v.filter.Origins = append(v.filter.Origins, x)
	}
	for _, c := range v.causes {
		x, err := report.ParseCause(c)
		if err != nil {
			return usagef("--cause: %v", err)
		}
		v.filter.Causes = append(v.filter.Causes, x)
	}
	for _, s := range v.servers {
		x, err := report.ParseServer(s)
		if err != nil {
			return usagef("--server: %v", err)
		}
		v.filter.Servers = append(v.filter.Servers, x)
	}
	loc, err := location(v.tz)
	if err != nil {
		return usagef("--tz: %v", err)
	}
	v.loc = loc
	v.ladders = v.ladders[:0]
	for _, f := range v.frames {
		if f == 0 {
			return usagef("--ladder: frames count from 1")
		}
		v.ladders = append(v.ladders, uint64(f))
	}
	return nil
}

// location reads a --tz value: "UTC", "local" or an IANA zone name.
func location(name string) (*time.Location, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utc", "z":
		return time.UTC, nil
	case "local":
		return time.Local, nil
	}
	return time.LoadLocation(name)
}
