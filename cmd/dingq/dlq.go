package main

import (
	"context"
	"errors"
)

// dlq is `dingq dlq list / show / replay / purge`. (Stub: to be built.)
func dlq(ctx context.Context, args []string, io stdio) error {
	return errors.New("not built yet")
}
