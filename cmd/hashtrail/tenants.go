package main

import "github.com/spf13/cobra"

func newTenantsCmd() *cobra.Command {
	return &cobra.Command{Use: "tenants", Short: "not yet built"}
}
