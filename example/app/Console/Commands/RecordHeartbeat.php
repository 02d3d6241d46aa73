<?php

namespace App\Console\Commands;

use App\Models\Heartbeat;
use Illuminate\Console\Command;

/** The scheduled command: proves the scheduler runs by leaving a row each minute. */
class RecordHeartbeat extends Command
{
    protected $signature = 'heartbeat:record';

    protected $description = 'Record that the scheduler ran (scheduled every minute)';

    public function handle(): int
    {
        $beat = Heartbeat::create(['source' => 'scheduler']);
        $this->info("heartbeat {$beat->id} recorded");

        return self::SUCCESS;
    }
}
