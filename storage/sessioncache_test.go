package storage

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// copyingSession is a session type that implements SessionCopier, with
// a JSON round trip as its deep copy.
type copyingSession struct {
	*openid.DefaultSession
	// copied reports whether CopyFrom set this session.
	copied bool
}

func (s *copyingSession) CopyFrom(src fosite.Session) bool {
	from, ok := src.(*copyingSession)
	if !ok {
		return false
	}
	encoded, err := json.Marshal(from.DefaultSession)
	if err != nil {
		return false
	}
	s.DefaultSession = &openid.DefaultSession{}
	if err := json.Unmarshal(encoded, s.DefaultSession); err != nil {
		return false
	}
	s.copied = true
	return true
}

func TestAccessTokenSessionMemo(t *testing.T) {
	t.Parallel()
	newSession := func() fosite.Session {
		return &copyingSession{DefaultSession: openid.NewDefaultSession()}
	}
	s, err := Open(newTestDSN(t, "sqlite"), Options{NewSession: newSession})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	client := createTestClient(t, s, "app")
	r := newTestRequest(client, "req-1", "sub-1")
	r.Session = &copyingSession{DefaultSession: newTestSession("sub-1")}
	if err := s.CreateAccessTokenSession(ctx, "at-1", r); err != nil {
		t.Fatalf("CreateAccessTokenSession: %v", err)
	}

	first, err := s.GetAccessTokenSession(ctx, "at-1", newSession())
	if err != nil {
		t.Fatalf("first GetAccessTokenSession: %v", err)
	}
	if first.GetSession().(*copyingSession).copied {
		t.Error("first read copied a session, want it decoded")
	}
	second, err := s.GetAccessTokenSession(ctx, "at-1", newSession())
	if err != nil {
		t.Fatalf("second GetAccessTokenSession: %v", err)
	}
	if !second.GetSession().(*copyingSession).copied {
		t.Error("second read decoded the session again, want a copy of the first decoding")
	}
	want := r.Session.(*copyingSession).DefaultSession
	for name, got := range map[string]fosite.Requester{"first": first, "second": second} {
		if diff := cmp.Diff(want, got.GetSession().(*copyingSession).DefaultSession); diff != "" {
			t.Errorf("%s read's session (-want +got):\n%s", name, diff)
		}
	}

	// A caller changing its session must not change later reads.
	first.GetSession().(*copyingSession).Claims.Extra["level"] = float64(9)
	third, err := s.GetAccessTokenSession(ctx, "at-1", newSession())
	if err != nil {
		t.Fatalf("third GetAccessTokenSession: %v", err)
	}
	if got := third.GetSession().(*copyingSession).Claims.Extra["level"]; got != float64(2) {
		t.Errorf("third read's level claim = %v, want 2", got)
	}

	// The memo skips decoding only; a deleted token is not found.
	if err := s.DeleteAccessTokenSession(ctx, "at-1"); err != nil {
		t.Fatalf("DeleteAccessTokenSession: %v", err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at-1", newSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetAccessTokenSession after delete: got %v, want fosite.ErrNotFound", err)
	}
}
