<?php

namespace App\Jobs;

use App\Models\Visit;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** The queued job: the worker service (`php artisan queue:work`) marks the visit processed. */
class StampVisit implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public int $tries = 3;

    public function __construct(public int $visitId)
    {
    }

    public function handle(): void
    {
        Visit::whereKey($this->visitId)->update(['processed_at' => now()]);
    }
}
