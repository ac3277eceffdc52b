package accounts

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// phcEncoding is the base64 variant of the PHC string format: the
// standard alphabet without padding. Strict decoding rejects trailing
// bits that a canonical encoder never sets.
var phcEncoding = base64.RawStdEncoding.Strict()

// errMalformedHash is wrapped by every decodeHash error.
var errMalformedHash = errors.New("malformed argon2id password hash")

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		phcEncoding.EncodeToString(salt), phcEncoding.EncodeToString(key))
}

// decodeHash parses a PHC string written by encodeHash or by another
// argon2id implementation that writes the same fields in the same order.
// The returned Params carry the salt and key lengths found in it. Errors
// quote no salt or key, so they can be logged.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, fmt.Errorf(
			"%w: want 5 fields separated by '$'",
			errMalformedHash,
		)
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf(
			"%w: algorithm %q, want argon2id",
			errMalformedHash, fields[1],
		)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf(
			"%w: version field %q, want v=%d",
			errMalformedHash, fields[2], argon2.Version,
		)
	}

	var p Params
	if err := parseCost(fields[3], &p); err != nil {
		return Params{}, nil, nil, err
	}

	salt, err := phcEncoding.DecodeString(fields[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: salt is not unpadded base64", errMalformedHash)
	}
	key, err := phcEncoding.DecodeString(fields[5])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: key is not unpadded base64", errMalformedHash)
	}
	p.SaltLength = uint32(len(salt))
	p.KeyLength = uint32(len(key))

	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", errMalformedHash, err)
	}
	return p, salt, key, nil
}

// parseCost reads "m=<KiB>,t=<iterations>,p=<lanes>" into p. The order is
// fixed and no other parameter is accepted.
func parseCost(field string, p *Params) error {
	parts := strings.Split(field, ",")
	if len(parts) != 3 {
		return fmt.Errorf(
			"%w: cost field must be m=<KiB>,t=<iterations>,p=<lanes>",
			errMalformedHash,
		)
	}
	memory, err := parseCostValue(parts[0], "m", 32)
	if err != nil {
		return err
	}
	iterations, err := parseCostValue(parts[1], "t", 32)
	if err != nil {
		return err
	}
	lanes, err := parseCostValue(parts[2], "p", 8)
	if err != nil {
		return err
	}
	p.Memory = uint32(memory)
	p.Iterations = uint32(iterations)
	p.Parallelism = uint8(lanes)
	return nil
}

func parseCostValue(part, name string, bits int) (uint64, error) {
	value, ok := strings.CutPrefix(part, name+"=")
	if !ok {
		return 0, fmt.Errorf(
			"%w: cost parameter %q, want %s=<number>",
			errMalformedHash, part, name,
		)
	}
	// The PHC string format forbids leading zeros, which ParseUint accepts.
	if len(value) > 1 && value[0] == '0' {
		return 0, fmt.Errorf(
			"%w: cost parameter %s=%q is not a canonical decimal",
			errMalformedHash, name, value,
		)
	}
	n, err := strconv.ParseUint(value, 10, bits)
	if err != nil {
		return 0, fmt.Errorf(
			"%w: cost parameter %s=%q is not a number below 2^%d",
			errMalformedHash, name, value, bits,
		)
	}
	return n, nil
}
