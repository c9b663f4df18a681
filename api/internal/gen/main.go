// Command gen writes the files generated from the request table: the Go
// client's typed calls (client/requests_gen.go) and the request reference
// (docs/requests.md). `go generate ./api` runs it in the api directory.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authnzrv/authnzrv/api"
)

func main() {
	clientOut := flag.String("client", "../client/requests_gen.go", "where the Go client's typed calls go")
	docsOut := flag.String("docs", "../docs/requests.md", "where the request reference goes")
	flag.Parse()
	if err := run(*clientOut, *docsOut); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(clientOut, docsOut string) error {
	src, err := api.GenerateClient()
	if err != nil {
		return err
	}
	ref, err := api.GenerateReference()
	if err != nil {
		return err
	}
	for path, data := range map[string][]byte{clientOut: src, docsOut: ref} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create the directory of %s: %w", path, err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
