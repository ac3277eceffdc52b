package storage

import (
	"context"
	"sync"
)

// requestMemo remembers the clients one request has already read.
// fosite reads the client of a request several times: to authenticate
// it, and again for each token it loads. The memo lives only as long as
// the request, so a change to a client takes effect at the next request
// as it would without it.
type requestMemo struct {
	mu      sync.Mutex
	clients map[string]Client
}

type requestMemoKey struct{}

// WithRequestMemo returns a context under which Client and GetClient
// read each client from the database at most once. Use it for the
// lifetime of one HTTP request only.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestMemoKey{}, &requestMemo{clients: map[string]Client{}})
}

func memoFrom(ctx context.Context) *requestMemo {
	m, _ := ctx.Value(requestMemoKey{}).(*requestMemo)
	return m
}

func (m *requestMemo) client(id string) (*Client, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return nil, false
	}
	return &c, true
}

func (m *requestMemo) storeClient(c *Client) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[c.ID] = *c
}
