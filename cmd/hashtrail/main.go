// Command hashtrail is the Hashtrail audit-log service and its tools in one
// binary: serve, keys, tenants, events, tail, bench and more. This package
// only wires the other packages together; the behaviour lives in them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// main runs the command line. SIGINT and SIGTERM cancel the command's
// context, which `serve` takes as the cue for a graceful shutdown; after the
// first, the default handling is restored, so a second one ends the process
// at once.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ec *exitCodeError
		if errors.As(err, &ec) { // `run`: the command's own exit code
			os.Exit(ec.code)
		}
		fmt.Fprintln(os.Stderr, "hashtrail:", err)
		os.Exit(1)
	}
}

// newRootCmd returns the hashtrail command with every subcommand.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hashtrail",
		Short:         "Hashtrail: a tamper-evident audit log service",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newKeysCmd(),
		newViewerTokensCmd(),
		newSinksCmd(),
		newAlertsCmd(),
		newDigestsCmd(),
		newTenantsCmd(),
		newEventsCmd(),
		newStatsCmd(),
		newTailCmd(),
		newBenchCmd(),
		newVerifyCmd(),
		newExportCmd(),
		newCatalogCmd(),
		newRetentionCmd(),
		newSubjectsCmd(),
		newHoldsCmd(),
		newRedactionCmd(),
		newReadAuditCmd(),
		newRunCmd(),
		newMigrateStoreCmd(),
		newBackupCmd(),
		newRestoreCmd(),
		newMigrateCmd(),
	)
	return root
}
