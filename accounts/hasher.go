package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB. One hash allocates all of it.
	Memory uint32
	// Iterations is the number of passes over the memory.
	Iterations uint32
	// Parallelism is the number of lanes, computed by as many goroutines.
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes.
	KeyLength uint32
}

// DefaultParams are the minimum argon2id settings of the OWASP Password
// Storage Cheat Sheet: 19 MiB of memory, 2 iterations and 1 lane
// (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html).
// The 16-byte salt is the length RFC 9106 section 3.1 recommends for
// password hashing, and the key is 256 bits.
var DefaultParams = Params{
	Memory:      19456,
	Iterations:  2,
	Parallelism: 1,
	SaltLength:  16,
	KeyLength:   32,
}

// Bounds that Params.Validate enforces. The minimums keep a
// misconfiguration from storing weak hashes, and the maximums stop a
// corrupted hash from costing unbounded memory or time when it is read.
const (
	// minMemoryPerLane is the smallest memory cost argon2 accepts per
	// lane, in KiB. golang.org/x/crypto/argon2 silently raises a lower
	// value, which would make the stored m= parameter wrong.
	minMemoryPerLane = 8
	maxMemory        = 4 * 1024 * 1024 // KiB, so 4 GiB
	maxIterations    = 1000
	minSaltLength    = 8  // bytes, the minimum of RFC 9106 section 3.1
	maxSaltLength    = 64 // bytes
	minKeyLength     = 16 // bytes, 128 bits
	maxKeyLength     = 128
)

// Validate returns an error naming the first parameter out of range.
func (p Params) Validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("argon2id parallelism must be at least 1")
	case p.Memory < minMemoryPerLane*uint32(p.Parallelism):
		return fmt.Errorf("argon2id memory is %d KiB, the minimum is 8 KiB per lane (%d KiB)",
			p.Memory, minMemoryPerLane*uint32(p.Parallelism))
	case p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory is %d KiB, the maximum is %d KiB", p.Memory, maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf(
			"argon2id iterations is %d, it must be 1 to %d",
			p.Iterations, maxIterations,
		)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("argon2id salt length is %d bytes, it must be %d to %d",
			p.SaltLength, minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("argon2id key length is %d bytes, it must be %d to %d",
			p.KeyLength, minKeyLength, maxKeyLength)
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id. It runs at most
// maxConcurrent hashes at once, and further callers wait, so hashing
// with these Params needs at most maxConcurrent × Memory KiB. Verify uses
// the cost stored in each hash, so the bound holds only for hashes no
// more expensive than Params. A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	// slots is a semaphore with one token per hash allowed to run.
	slots chan struct{}
	// dummySalt and dummyKey stand in for a stored hash in VerifyDummy.
	dummySalt []byte
	dummyKey  []byte
}

// NewHasher returns a Hasher that hashes with p and runs at most
// maxConcurrent hashes at once. A maxConcurrent below 1 means 1. It
// panics when p is invalid, so callers that read p from configuration
// should check it with Params.Validate first.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic("accounts.NewHasher: " + err.Error())
	}
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	return &Hasher{
		params:    p,
		slots:     make(chan struct{}, maxConcurrent),
		dummySalt: randomBytes(p.SaltLength),
		dummyKey:  randomBytes(p.KeyLength),
	}
}

// Hash returns the PHC string of password under a new random salt:
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>, with salt
// and key in unpadded standard base64. It returns ctx's error if ctx ends
// while waiting for a free slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLength)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded,
// comparing keys in constant time. It returns an error if encoded is not
// an argon2id hash this package can read, or if ctx ends while waiting
// for a free slot.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy does the work of a Verify against a hash made with the
// Hasher's Params and discards the result. Callers run it when the user
// is unknown, so that the response takes as long as for a known user.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	got, err := h.derive(ctx, password, h.dummySalt, h.params)
	if err != nil {
		return
	}
	subtle.ConstantTimeCompare(got, h.dummyKey)
}

// NeedsRehash reports whether encoded should be replaced by a new Hash:
// it is unreadable, or its memory, iterations, salt length or key length
// is below the Hasher's. Parallelism is not compared, because more lanes
// do not make a hash harder to attack.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	return p.Memory < h.params.Memory ||
		p.Iterations < h.params.Iterations ||
		p.SaltLength < h.params.SaltLength ||
		p.KeyLength < h.params.KeyLength
}

// derive runs argon2id once a slot is free. It checks ctx before waiting,
// so an ended context never starts a hash even when a slot is free.
func (h *Hasher) derive(
	ctx context.Context,
	password string,
	salt []byte,
	p Params,
) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait to hash password: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to hash password: %w", ctx.Err())
	}
	defer func() { <-h.slots }()

	return argon2.IDKey(
		[]byte(password),
		salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength,
	), nil
}

// randomBytes returns n bytes from crypto/rand. Since Go 1.24 rand.Read
// never returns an error: it crashes the program when the system's
// random source fails.
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
