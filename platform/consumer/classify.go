package consumer

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/twmb/franz-go/pkg/kerr"
)

// dataErrorCodes are the ClickHouse exceptions that blame the rows of a
// block: only these split it and dead-letter the rows that still fail.
// Every other exception (read-only table 242, too many parts 252, memory
// limit 241, timeouts, ZooKeeper, ...) is the server's state, not the
// data's, and is retried until it passes.
var dataErrorCodes = map[int32]string{
	6:   "CANNOT_PARSE_TEXT",
	26:  "CANNOT_PARSE_QUOTED_STRING",
	27:  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
	38:  "CANNOT_PARSE_DATE",
	41:  "CANNOT_PARSE_DATETIME",
	53:  "TYPE_MISMATCH",
	69:  "ARGUMENT_OUT_OF_BOUND",
	70:  "CANNOT_CONVERT_TYPE",
	72:  "CANNOT_PARSE_NUMBER",
	117: "INCORRECT_DATA",
	130: "CANNOT_READ_ARRAY_FROM_TEXT",
	131: "TOO_LARGE_STRING_SIZE",
	321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
	349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
}

// appendError is the client refusing a row's value (a conversion), which is
// the row's fault like a data exception.
type appendError struct{ err error }

func (e *appendError) Error() string { return "append row: " + e.err.Error() }
func (e *appendError) Unwrap() error { return e.err }

// isDataError reports whether err blames the rows rather than ClickHouse
// or the network.
func isDataError(err error) bool {
	var ae *appendError
	if errors.As(err, &ae) {
		return true
	}
	var exc *proto.Exception
	if errors.As(err, &exc) {
		_, ok := dataErrorCodes[exc.Code]
		return ok
	}
	return false
}

// exceptionCode is err's ClickHouse code, or 0.
func exceptionCode(err error) int32 {
	var exc *proto.Exception
	if errors.As(err, &exc) {
		return exc.Code
	}
	return 0
}

// isMembershipError reports a commit refused because this member no longer
// owns the partitions: retrying cannot succeed, the batch is abandoned.
func isMembershipError(err error) bool {
	return errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.StaleMemberEpoch) || errors.Is(err, kerr.FencedMemberEpoch)
}

// sleep waits d with jitter (half to all of d), or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
