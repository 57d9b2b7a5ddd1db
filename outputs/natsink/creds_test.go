package natsink

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/fastsniff/fastsniff/outputs/sink"
)

// operatorServer writes a nats-server configuration in operator mode (an
// operator, one account with JetStream, its JWT preloaded) and a user
// credentials file of that account; it returns the config and creds paths.
func operatorServer(t *testing.T, dir string) (conf, creds string) {
	t.Helper()
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	// JetStream needs a system account
	sys, _ := nkeys.CreateAccount()
	sysPub, _ := sys.PublicKey()
	oc := jwt.NewOperatorClaims(opPub)
	oc.SystemAccount = sysPub
	opJWT, err := oc.Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	sysJWT, err := jwt.NewAccountClaims(sysPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := nkeys.CreateAccount()
	accPub, _ := acc.PublicKey()
	ac := jwt.NewAccountClaims(accPub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accJWT, err := ac.Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(userPub)
	userJWT, err := uc.Encode(acc)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	credsText, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	creds = filepath.Join(dir, "user.creds")
	conf = filepath.Join(dir, "server.conf")
	if err := os.WriteFile(creds, credsText, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "operator: " + opJWT + "\nsystem_account: " + sysPub + "\nresolver: MEMORY\nresolver_preload: {\n  " +
		accPub + ": " + accJWT + "\n  " + sysPub + ": " + sysJWT + "\n}\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf, creds
}

// TestCreds: --nats-creds authenticates with a user JWT and seed; without
// it the server refuses and the records stay in the spool.
func TestCreds(t *testing.T) {
	dir := t.TempDir()
	conf, creds := operatorServer(t, dir)
	url := server(t, "-c", conf)
	s, err := Open(Config{URLs: []string{url}, Sensor: "creds", Creds: creds, SpoolDir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	s.Append(sink.Conn, lines(0, 50))
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Acked != 50 {
		t.Fatalf("with credentials: %+v", st)
	}
	s, err = Open(Config{URLs: []string{url}, Sensor: "creds", SpoolDir: filepath.Join(dir, "spool2")})
	if err != nil {
		t.Fatal(err)
	}
	s.Append(sink.Conn, lines(0, 5))
	var ue *UnackedError
	if err := s.Close(500 * time.Millisecond); !errors.As(err, &ue) || ue.N != 5 {
		t.Fatalf("without credentials: %v, want 5 unacked", err)
	}
}
