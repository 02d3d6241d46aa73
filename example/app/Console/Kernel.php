<?php

namespace App\Console;

use Illuminate\Console\Scheduling\Schedule;
use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

class Kernel extends ConsoleKernel
{
    /**
     * What `php artisan schedule:work` (the scheduler service) runs. One scheduler task runs per
     * environment; onOneServer() would need a cache lock shared by several.
     */
    protected function schedule(Schedule $schedule): void
    {
        $schedule->command('heartbeat:record')->everyMinute()->withoutOverlapping();
    }

    protected function commands(): void
    {
        $this->load(__DIR__.'/Commands');
    }
}
