package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/webhook"
)

// standardVerify checks a delivery the way the Standard Webhooks
// specification describes it, written here from the specification and not
// from the package: the key is the base64 after "whsec_"; the signed
// content is "<webhook-id>.<webhook-timestamp>.<body>"; the signature
// header holds space-separated "v1,<base64 HMAC-SHA256>" entries; the
// timestamp must be within 5 minutes of now.
func standardVerify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Unix() - sec; d > 300 || d < -300 {
		return errors.New("timestamp outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// The published example of the Standard Webhooks libraries.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	key, err := webhook.ParseSecret(vectorSecret)
	require.NoError(t, err)
	assert.Equal(t, vectorSig, webhook.Sign(key, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)))
}

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestSignedDeliveriesPassTheSpecVerifier(t *testing.T) {
	secret := webhook.NewSecret()
	assert.True(t, strings.HasPrefix(secret, "whsec_"))
	key, err := webhook.ParseSecret(secret)
	require.NoError(t, err)
	assert.Len(t, key, 32)
	now := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	body := []byte(`{"type":"debate.created","timestamp":"2024-01-15T10:30:00Z","data":{"id":"deb_1"}}`)
	h := headers("msg_1", now.Unix(), webhook.Sign(key, "msg_1", now, body))

	require.NoError(t, standardVerify(secret, h, body, now))
	require.NoError(t, standardVerify(secret, h, body, now.Add(4*time.Minute)))
	assert.Error(t, standardVerify(webhook.NewSecret(), h, body, now), "wrong secret")
	assert.Error(t, standardVerify(secret, h, body, now.Add(6*time.Minute)), "stale timestamp")
	assert.Error(t, standardVerify(secret, h, append(body, ' '), now), "altered body")
	// A second signature (a key rotation on the receiver side) still verifies.
	h.Set("webhook-signature", "v1,AAAA "+h.Get("webhook-signature"))
	require.NoError(t, standardVerify(secret, h, body, now))
}

func TestVerify(t *testing.T) {
	key, _ := webhook.ParseSecret(vectorSecret)
	at := time.Unix(vectorTS, 0)
	good := headers(vectorID, vectorTS, vectorSig)
	require.NoError(t, webhook.Verify(vectorSecret, good, []byte(vectorBody), at, 0))
	require.NoError(t, webhook.Verify(vectorSecret, headers(vectorID, vectorTS, "v2,xyz v1,bad "+vectorSig), []byte(vectorBody), at, 0))
	tests := map[string]struct {
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		"wrong secret":    {webhook.NewSecret(), good, vectorBody, at, webhook.ErrInvalidSignature},
		"stale":           {vectorSecret, good, vectorBody, at.Add(5*time.Minute + time.Second), webhook.ErrInvalidSignature},
		"from the future": {vectorSecret, good, vectorBody, at.Add(-5*time.Minute - time.Second), webhook.ErrInvalidSignature},
		"body changed":    {vectorSecret, good, vectorBody + " ", at, webhook.ErrInvalidSignature},
		"id changed":      {vectorSecret, headers("msg_other", vectorTS, vectorSig), vectorBody, at, webhook.ErrInvalidSignature},
		"no signature":    {vectorSecret, headers(vectorID, vectorTS, ""), vectorBody, at, webhook.ErrInvalidSignature},
		"bad timestamp":   {vectorSecret, http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"soon"}, "Webhook-Signature": {vectorSig}}, vectorBody, at, webhook.ErrInvalidSignature},
		"bad secret":      {"secret", good, vectorBody, at, webhook.ErrInvalidSecret},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, webhook.Verify(tt.secret, tt.h, []byte(tt.body), tt.now, 0), tt.want)
		})
	}
	_ = key
}

func TestParseSecret(t *testing.T) {
	for _, s := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		_, err := webhook.ParseSecret(s)
		assert.ErrorIs(t, err, webhook.ErrInvalidSecret, "%q", s)
	}
}
