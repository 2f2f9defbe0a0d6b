package capture

import (
	"testing"

	"github.com/belay-proxy/belay/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }
