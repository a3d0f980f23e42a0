package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/cobra"
)

// catalogService is what `hashtrail catalog` needs: the ledger offline, the
// API through httpService.
type catalogService interface {
	TenantCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error)
	PutTenantCatalog(ctx context.Context, tenant string, c *hashtrail.TenantCatalog) (*hashtrail.TenantCatalog, error)
}

var (
	_ catalogService = (*httpService)(nil)
	_ catalogService = (*ledger.Ledger)(nil)
)

// newCatalogCmd builds `hashtrail catalog` and its subcommands.
func newCatalogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Show or set a tenant's action catalog",
		Long: `A tenant's action catalog registers its own actions, each with default
category, severity and outcome and a JSON Schema for its metadata, and says
whether other actions are accepted (mode open, the default) or refused (strict).
The standard catalog's actions are always accepted. Needs an admin key of the
tenant or of the installation (or works offline on the data directory).`,
	}
	cmd.AddCommand(newCatalogShowCmd(), newCatalogSetCmd(), newCatalogStandardCmd())
	return cmd
}

func newCatalogStandardCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "standard",
		Short: "List the standard event catalog (as GET /v1/catalog serves it)",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print it as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), api.Catalog{Version: hashtrail.CatalogVersion, OCSFVersion: hashtrail.OCSFVersion, Actions: hashtrail.Catalog})
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tCATEGORY\tSEVERITY\tOUTCOME\tOCSF\tDESCRIPTION")
		for _, e := range hashtrail.Catalog {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", e.Action, e.Category, e.Severity, e.Outcome, e.OCSF.ClassUID, e.OCSF.ActivityID, e.Description)
		}
		return tw.Flush()
	}
	return cmd
}

func newCatalogShowCmd() *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show --tenant T",
		Short:   "Show a tenant's action catalog",
		Example: "  hashtrail catalog show --tenant acme --json > catalog.json",
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the catalog as JSON, as `catalog set -f` takes it")
	cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			cs, err := catalogOf(svc)
			if err != nil {
				return err
			}
			c, err := cs.TenantCatalog(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), c)
			}
			return printCatalog(cmd.OutOrStdout(), tenant, c)
		})
	}
	return cmd
}

func newCatalogSetCmd() *cobra.Command {
	var tenant, file string
	var version int64
	cmd := &cobra.Command{
		Use:   "set --tenant T -f catalog.json",
		Short: "Replace a tenant's action catalog with a JSON document",
		Long: `Replace a tenant's action catalog with the JSON document in a file ("-" for
stdin): {"mode": "open"|"strict", "actions": [{"action", "category",
"severity", "outcome", "description", "metadata_schema"}]}. The change applies
only if the catalog is still at the version the document (or --version) names;
a document without a version replaces whatever is current.`,
		Example: `  hashtrail catalog show --tenant acme --json > catalog.json
  $EDITOR catalog.json
  hashtrail catalog set --tenant acme -f catalog.json`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().StringVarP(&file, "file", "f", "", "the catalog document, JSON (required; - for stdin)")
	cmd.Flags().Int64Var(&version, "version", 0, "the version being replaced (default: the document's, else the current one)")
	cmd.MarkFlagRequired("tenant")
	cmd.MarkFlagRequired("file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		doc := &hashtrail.TenantCatalog{}
		if err := readJSONFile(cmd.InOrStdin(), file, doc); err != nil {
			return fmt.Errorf("not a catalog document: %w", err)
		}
		return rf.withService(cmd, func(svc service) error {
			cs, err := catalogOf(svc)
			if err != nil {
				return err
			}
			doc.Version, err = replacedVersion(cmd, version, doc.Version, func() (int64, error) {
				cur, err := cs.TenantCatalog(cmd.Context(), tenant)
				if err != nil {
					return 0, err
				}
				return cur.Version, nil
			})
			if err != nil {
				return err
			}
			c, err := cs.PutTenantCatalog(cmd.Context(), tenant, doc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "catalog of %s: version %d, mode %s, %d actions\n", tenant, c.Version, c.Mode, len(c.Actions))
			return nil
		})
	}
	return cmd
}

func catalogOf(svc service) (catalogService, error) {
	cs, ok := svc.(catalogService)
	if !ok {
		return nil, fmt.Errorf("this connection cannot manage catalogs")
	}
	return cs, nil
}

func printCatalog(w io.Writer, tenant string, c *hashtrail.TenantCatalog) error {
	fmt.Fprintf(w, "catalog of %s: version %d, mode %s", tenant, c.Version, c.Mode)
	if c.UpdatedBy != "" {
		fmt.Fprintf(w, ", updated %s by %s", when(c.UpdatedAt), c.UpdatedBy)
	}
	fmt.Fprintln(w)
	if len(c.Actions) == 0 {
		fmt.Fprintln(w, "no registered actions")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tCATEGORY\tSEVERITY\tOUTCOME\tSCHEMA\tDESCRIPTION")
	for _, a := range c.Actions {
		schema := "-"
		if len(a.MetadataSchema) > 0 {
			schema = fmt.Sprintf("%d bytes", len(a.MetadataSchema))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Action, dash(string(a.Category)), dash(string(a.Severity)),
			dash(string(a.Outcome)), schema, dash(a.Description))
	}
	return tw.Flush()
}

// TenantCatalog is GET /v1/tenants/{t}/catalog.
func (c *httpService) TenantCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error) {
	var out hashtrail.TenantCatalog
	err := c.do(ctx, http.MethodGet, tenantPath(tenant)+"/catalog", nil, &out)
	return &out, err
}

// PutTenantCatalog is PUT /v1/tenants/{t}/catalog.
func (c *httpService) PutTenantCatalog(ctx context.Context, tenant string, doc *hashtrail.TenantCatalog) (*hashtrail.TenantCatalog, error) {
	var out hashtrail.TenantCatalog
	body := &hashtrail.TenantCatalog{Mode: doc.Mode, Actions: doc.Actions, Version: doc.Version}
	err := c.do(ctx, http.MethodPut, tenantPath(tenant)+"/catalog", body, &out)
	return &out, err
}
