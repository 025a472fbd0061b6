package main

import (
	"context"
	"fmt"
	"io"
)

func importCmd(ctx context.Context, g globalFlags, paths []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("todo")
}
