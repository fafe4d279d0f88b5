-- AlterTable
ALTER TABLE "login_throttle" DROP COLUMN "failing_since",
ADD COLUMN     "expires_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "last_failure_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "login_throttle_expires_at_idx" ON "login_throttle"("expires_at");
