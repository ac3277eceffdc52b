package clients

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/idp/idp/storage"
)

// Limits of the limit parameter of GET /admin/events.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// listEvents serves GET /admin/events: a JSON array of security events,
// newest first. The optional query parameters user_id, client_id and kind
// select events, and limit (1 to 1000, default 100) caps their number.
// An invalid parameter is a 400 whose error_description starts with the
// parameter's name.
func (a *adminAPI) listEvents(w http.ResponseWriter, r *http.Request) {
	filter, err := parseEventFilter(r.URL.RawQuery)
	if err != nil {
		a.logger.InfoContext(r.Context(), "admin API events query rejected", "err", err)
		a.writeError(w, http.StatusBadRequest, errorInvalidRequest, err.Error())
		return
	}

	events, err := a.events.ListEvents(r.Context(), filter)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "admin API request failed", "err", err)
		a.writeError(w, http.StatusInternalServerError, errorServerError,
			"internal error; see the server log")
		return
	}
	if events == nil {
		events = []storage.SecurityEvent{}
	}
	a.writeJSON(w, http.StatusOK, events)
}

// parseEventFilter parses the query string of GET /admin/events.
func parseEventFilter(rawQuery string) (storage.EventFilter, error) {
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return storage.EventFilter{}, fmt.Errorf("query string is not valid URL encoding: %w", err)
	}

	filter := storage.EventFilter{
		UserID:   query.Get("user_id"),
		ClientID: query.Get("client_id"),
		Limit:    defaultEventLimit,
	}
	if kind := query.Get("kind"); kind != "" {
		if filter.Kind, err = parseEventKind(kind); err != nil {
			return storage.EventFilter{}, fmt.Errorf("kind: %w", err)
		}
	}
	if raw := query.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxEventLimit {
			return storage.EventFilter{}, fmt.Errorf("limit: %q is not an integer from 1 to %d",
				raw, maxEventLimit)
		}
		filter.Limit = n
	}
	return filter, nil
}

// parseEventKind returns the event kind named s, or an error that lists
// the valid kinds.
func parseEventKind(s string) (storage.EventKind, error) {
	kind := storage.EventKind(s)
	if slices.Contains(storage.EventKinds, kind) {
		return kind, nil
	}
	names := make([]string, len(storage.EventKinds))
	for i, k := range storage.EventKinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown event kind %q; valid kinds are %s", s, strings.Join(names, ", "))
}
