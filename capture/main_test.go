package capture

import (
	"os"
	"testing"

	"github.com/belay-proxy/belay/internal/testpg"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpg.Stop()
	os.Exit(code)
}
