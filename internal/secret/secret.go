// Package secret seals small secrets (OAuth refresh tokens) for storage:
// AES-256-GCM with a random nonce, the key's id stored beside the
// ciphertext so keys can be rotated, and associated data binding each
// ciphertext to its row so sealed values cannot be swapped between rows.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Box seals with its current key and opens with any key it holds.
type Box struct {
	current string
	aeads   map[string]cipher.AEAD
}

// KeyID names a key: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// ParseKeys reads keys in base64 (standard or URL alphabet), separated by
// commas; the first seals, the others only open (rotation).
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var k []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(part); err == nil {
				break
			}
		}
		if err != nil || len(k) != 32 {
			return nil, errors.New("each key must be 32 bytes in base64 (openssl rand -base64 32)")
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key given")
	}
	return keys, nil
}

// NewBox returns a Box sealing with keys[0] and opening with all of them.
func NewBox(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no key")
	}
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, errors.New("secret: keys are 32 bytes")
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		id := KeyID(k)
		b.aeads[id] = aead
		if i == 0 {
			b.current = id
		}
	}
	return b, nil
}

// KeyID is the id of the sealing key.
func (b *Box) KeyID() string { return b.current }

// Seal encrypts plaintext bound to aad; it returns the ciphertext (nonce
// first) and the id of the key used.
func (b *Box) Seal(plaintext, aad []byte) (ciphertext []byte, keyID string) {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails
	return aead.Seal(nonce, nonce, plaintext, aad), b.current
}

// ErrUnknownKey means the value was sealed with a key this Box lacks.
var ErrUnknownKey = errors.New("secret: sealed with a key that is not configured")

// Open decrypts what Seal returned, with the same aad.
func (b *Box) Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error) {
	aead, ok := b.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w (key %s)", ErrUnknownKey, keyID)
	}
	if len(ciphertext) < aead.NonceSize() {
		return nil, errors.New("secret: ciphertext too short")
	}
	out, err := aead.Open(nil, ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("secret: ciphertext or its binding does not verify")
	}
	return out, nil
}
