package clients

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/idp/idp/storage"
)

// EventRecorder stores security events. *storage.Store implements it.
type EventRecorder interface {
	RecordEvent(ctx context.Context, e *storage.SecurityEvent) error
}

// EventStore lists stored security events, newest first.
// *storage.Store implements it.
type EventStore interface {
	ListEvents(ctx context.Context, f storage.EventFilter) ([]storage.SecurityEvent, error)
}

var (
	_ EventRecorder = (*storage.Store)(nil)
	_ EventStore    = (*storage.Store)(nil)
)

// adminAPISource is the Source of the changes made through the admin API.
const adminAPISource = "via admin API"

// withRequest returns a copy of r whose events name source and carry
// the remote address, user agent, method and path of req. The copy
// shares the store, hasher and recorder of r.
func (r *Registry) withRequest(source string, req *http.Request) *Registry {
	c := *r
	c.Source = source
	c.request = storage.SecurityEvent{
		RemoteAddr: peerIP(req),
		UserAgent:  req.UserAgent(),
		Method:     req.Method,
		Path:       req.URL.Path,
	}
	return &c
}

// peerIP returns the IP address of the direct peer of req. The admin
// listener has no trusted proxies, so X-Forwarded-For is not read.
func peerIP(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// recordEvent records a client event of kind when r.Events is set. The
// detail is the note followed by r.Source. A failure is logged and not
// returned, because the change the event describes is already stored
// and reporting an error would suggest that it was not.
//
// NOTE: the change and its event are two writes without a transaction
// around them, so a crash between them loses the event.
func (r *Registry) recordEvent(ctx context.Context, kind storage.EventKind, clientID, note string) {
	if r.Events == nil {
		return
	}
	e := r.request
	e.Time = r.now().UTC()
	e.Kind = kind
	e.ClientID = clientID
	e.Detail = joinNonEmpty(note, r.Source)

	// The change is stored even if the caller has gone away, so its
	// event is stored too.
	ctx = context.WithoutCancel(ctx)
	if err := r.Events.RecordEvent(ctx, &e); err != nil {
		logger := r.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		logger.ErrorContext(ctx, "security event not recorded",
			"event_kind", string(kind), "client_id", clientID, "err", err)
	}
}

// joinNonEmpty joins the non-empty parts with spaces.
func joinNonEmpty(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}
