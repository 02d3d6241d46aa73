<?php

use App\Http\Controllers\HealthController;
use App\Http\Controllers\VisitController;
use Illuminate\Support\Facades\Route;

Route::get('/', [VisitController::class, 'index'])->name('visits');
Route::get('/health', HealthController::class)->name('health');
