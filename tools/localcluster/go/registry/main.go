// The local cluster's image registry: distribution's registry with only the drivers the
// harness uses (filesystem storage, htpasswd authentication), so the cold build compiles
// none of the cloud storage SDKs upstream's cmd/registry links in. `hash-password` writes
// the bcrypt htpasswd line the registry checks, so the harness needs no other tool for it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

var hashPassword = &cobra.Command{
	Use:   "hash-password USER",
	Short: "print the htpasswd line for USER, the password read from standard input",
	Args:  cobra.ExactArgs(1),
	// a refused password is the caller's input error: say why, not the usage text
	SilenceUsage: true,
	RunE: func(cmd *cobra.Command, args []string) error {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("no password on standard input: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return fmt.Errorf("the password on standard input is empty")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return err
		}
		fmt.Printf("%s:%s\n", args[0], hash)
		return nil
	},
}

func main() {
	registry.RootCmd.AddCommand(hashPassword)
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
