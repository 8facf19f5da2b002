package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestOnlyDataErrorsBlameTheRows(t *testing.T) {
	for code, data := range map[int32]bool{
		53: true, 6: true, 27: true, 41: true, 70: true, 321: true, // type mismatch, cannot parse, bad values
		242: false, 252: false, 241: false, 159: false, 209: false, 210: false, 999: false, 60: false, 164: false,
	} {
		err := fmt.Errorf("insert: %w", &proto.Exception{Code: code, Message: "x"})
		if got := isDataError(err); got != data {
			t.Errorf("code %d: isDataError %v, want %v", code, got, data)
		}
	}
	for _, err := range []error{context.DeadlineExceeded, errors.New("read: connection reset by peer"), errors.New("dial tcp: connection refused")} {
		if isDataError(err) {
			t.Errorf("%v blamed on the data", err)
		}
	}
	if !isDataError(&appendError{errors.New("converting int to String is unsupported")}) {
		t.Error("a value the client refuses is the row's fault")
	}
	if !isMembershipError(fmt.Errorf("commit: %w", kerr.IllegalGeneration)) || isMembershipError(kerr.RequestTimedOut) {
		t.Error("membership errors misclassified")
	}
}
