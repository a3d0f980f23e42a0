package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/spf13/cobra"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Show and apply the PostgreSQL store's schema migrations",
		Long: `The store's schema migrations are embedded in the binary and applied when
a server starts, under an advisory lock so several nodes starting at once
are safe. These commands show and apply them by hand, for instance before
rolling out a new version to many nodes. The embedded SQLite store applies
its migrations itself whenever it is opened.`,
	}
	cmd.AddCommand(newMigrateStatusCmd(), newMigrateUpCmd())
	return cmd
}

func newMigrateStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "List every migration and whether it is applied",
		Example: `  hashtrail migrate status --store postgres://hashtrail@db.internal/hashtrail`,
		Args:    cobra.NoArgs,
	}
	cf := bindConfig(cmd.Flags(), "data", "store", "pg-statement-timeout")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withPostgres(cmd, cf, func(ctx context.Context, st *postgres.Store) error {
			ms, err := st.MigrationStatus(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
			pending := 0
			for _, m := range ms {
				at := "pending"
				if !m.Pending() {
					at = m.AppliedAt.UTC().Format(time.RFC3339)
				} else {
					pending++
				}
				fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.Name, at)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d applied, %d pending\n", len(ms)-pending, pending)
			return nil
		})
	}
	return cmd
}

func newMigrateUpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "up",
		Short:   "Apply every pending migration",
		Example: `  hashtrail migrate up --store postgres://hashtrail@db.internal/hashtrail`,
		Args:    cobra.NoArgs,
	}
	cf := bindConfig(cmd.Flags(), "data", "store", "pg-statement-timeout")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withPostgres(cmd, cf, func(ctx context.Context, st *postgres.Store) error {
			n, err := st.Migrate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %d migration(s); the schema is up to date\n", n)
			return nil
		})
	}
	return cmd
}

// withPostgres opens the PostgreSQL store the configuration names without
// migrating it, runs fn, and closes it.
func withPostgres(cmd *cobra.Command, cf *configFlags, fn func(context.Context, *postgres.Store) error) error {
	cfg, err := cf.load(os.Getenv)
	if err != nil {
		return err
	}
	t, err := cfg.storeTarget()
	if err != nil {
		return err
	}
	if t.pg == "" {
		return fmt.Errorf("the store is the embedded SQLite file %s, which applies its migrations itself when opened; pass --store postgres://...", t)
	}
	st, err := postgres.Open(cmd.Context(), t.pg, pgConfig(t, quietLogger(cmd.ErrOrStderr()), true))
	if err != nil {
		return fmt.Errorf("opening the store %s: %w", t, err)
	}
	defer st.Close()
	return fn(cmd.Context(), st)
}

// quietLogger logs warnings and errors to w.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
