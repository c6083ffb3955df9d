package secret_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/secret"
)

func key() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func TestSealOpenRotateAndBind(t *testing.T) {
	t.Parallel()
	old, cur := key(), key()
	oldBox, err := secret.NewBox(old)
	require.NoError(t, err)
	sealedOld, oldID := oldBox.Seal([]byte("refresh-1"), []byte("account:1"))
	require.False(t, bytes.Contains(sealedOld, []byte("refresh-1")))

	box, err := secret.NewBox(cur, old) // rotated: new key seals, old still opens
	require.NoError(t, err)
	require.Equal(t, secret.KeyID(cur), box.KeyID())
	got, err := box.Open(sealedOld, oldID, []byte("account:1"))
	require.NoError(t, err)
	require.Equal(t, "refresh-1", string(got))

	sealed, id := box.Seal([]byte("refresh-2"), []byte("account:2"))
	require.Equal(t, box.KeyID(), id)
	_, err = box.Open(sealed, id, []byte("account:3"))
	require.Error(t, err, "bound to its row")
	sealed[len(sealed)-1] ^= 1
	_, err = box.Open(sealed, id, []byte("account:2"))
	require.Error(t, err, "tampering detected")
	_, err = oldBox.Open(sealed, id, []byte("account:2"))
	require.ErrorIs(t, err, secret.ErrUnknownKey)

	// Two seals of the same value differ (random nonce).
	a, _ := box.Seal([]byte("x"), nil)
	b, _ := box.Seal([]byte("x"), nil)
	require.NotEqual(t, a, b)
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k1, k2 := key(), key()
	keys, err := secret.ParseKeys(base64.StdEncoding.EncodeToString(k1) + ", " + base64.RawURLEncoding.EncodeToString(k2))
	require.NoError(t, err)
	require.Equal(t, [][]byte{k1, k2}, keys)
	_, err = secret.ParseKeys("c2hvcnQ=")
	require.ErrorContains(t, err, "32 bytes")
	_, err = secret.ParseKeys("")
	require.Error(t, err)
}
