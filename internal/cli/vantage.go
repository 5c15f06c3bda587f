package cli

import (
	"strings"

	"github.com/rstscope/rstscope/rstanalysis"
)

// vantageRoles parses read's --vantage FILE=client|server|router values
// into roles by file name; every FILE must be one of files.
func vantageRoles(vals, files []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	for _, f := range files {
		known[f] = true
	}
	roles := map[string]string{}
	for _, val := range vals {
		i := strings.LastIndexByte(val, '=')
		if i <= 0 {
			return nil, usagef("--vantage wants FILE=client|server|router (got %q)", val)
		}
		file, role := val[:i], val[i+1:]
		switch role {
		case rstanalysis.RoleClient, rstanalysis.RoleServer, rstanalysis.RoleRouter:
		default:
			return nil, usagef("--vantage %s: the place must be client, server or router (got %q)", file, role)
		}
		if !known[file] {
			return nil, usagef("--vantage %s: not one of the files read", file)
		}
		roles[file] = role
	}
	return roles, nil
}
