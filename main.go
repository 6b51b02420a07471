// Command skiff is the Skiff CLI and, as `skiff controller` and `skiff agent`, its control plane.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"skiff.dev/skiff/cmd"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// main is the one error sink: every command returns its error here, typed errors pick the exit code.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := ui.StdStreams()
	err := cmd.Execute(ctx, streams, os.Args[1:])
	stop()
	if err != nil {
		ui.NewPrinter(streams.Err).Error(err)
	}
	os.Exit(errs.Code(err))
}
