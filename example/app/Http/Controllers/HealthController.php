<?php

namespace App\Http\Controllers;

use Illuminate\Contracts\Encryption\Encrypter;
use Illuminate\Http\JsonResponse;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Log;
use Throwable;

class HealthController extends Controller
{
    /**
     * Healthy means able to serve the page: the database answers and the migrations have run (the
     * visits table exists), and APP_KEY is set and valid (the encrypter resolves). A target group
     * and local:deploy both ask this before sending traffic.
     */
    public function __invoke(): JsonResponse
    {
        try {
            DB::select('select 1');
            $visits = DB::table('visits')->count();
            app(Encrypter::class);
        } catch (Throwable $error) {
            Log::error('health check failed: '.$error->getMessage());

            return response()->json(['status' => 'failing', 'error' => class_basename($error)], 503);
        }

        return response()->json(['status' => 'ok', 'database' => 'ok', 'visits' => $visits]);
    }
}
