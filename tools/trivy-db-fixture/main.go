// Command trivy-db-fixture writes a small but real Trivy vulnerability database (trivy.db and
// metadata.json) with trivy-db's own packages, and dumps BoltDB files as sorted text.
//
//	go run . -out DIR [-updated-at RFC3339] [-next-update RFC3339]
//	go run . dump FILE
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db-fixture:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "dump" {
		if len(args) != 2 {
			return fmt.Errorf("usage: trivy-db-fixture dump FILE")
		}
		w := bufio.NewWriter(os.Stdout)
		if err := dump(args[1], w); err != nil {
			return err
		}
		return w.Flush()
	}

	fs := flag.NewFlagSet("trivy-db-fixture", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write trivy.db and metadata.json to (required)")
	updated := fs.String("updated-at", "2026-12-01T00:00:00Z", "metadata.json UpdatedAt (RFC 3339)")
	next := fs.String("next-update", "2026-12-02T00:00:00Z", "metadata.json NextUpdate (RFC 3339)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: trivy-db-fixture -out DIR [flags]\n       trivy-db-fixture dump FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("-out DIR is required and no other arguments are taken")
	}
	updatedAt, err := time.Parse(time.RFC3339, *updated)
	if err != nil {
		return fmt.Errorf("-updated-at: %w", err)
	}
	nextUpdate, err := time.Parse(time.RFC3339, *next)
	if err != nil {
		return fmt.Errorf("-next-update: %w", err)
	}
	return generate(*out, updatedAt, nextUpdate)
}
