package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLiveCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "live -i IFACE [flags] [-- FILTER]",
		Short:  "Sniff an interface through libpcap and report resets as they happen",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("live capture is not built yet")
		},
	}
}
