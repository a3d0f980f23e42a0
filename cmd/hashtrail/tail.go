package main

import "github.com/spf13/cobra"

func newTailCmd() *cobra.Command {
	return &cobra.Command{Use: "tail", Short: "not yet built"}
}
