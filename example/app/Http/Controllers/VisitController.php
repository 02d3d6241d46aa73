<?php

namespace App\Http\Controllers;

use App\Jobs\StampVisit;
use App\Models\Visit;
use Illuminate\Http\Request;
use Illuminate\View\View;

class VisitController extends Controller
{
    /**
     * Writes a row for this request, queues a job that stamps it (the worker service runs it), and
     * shows the latest rows read back from the database.
     */
    public function index(Request $request): View
    {
        $visit = Visit::create([
            'path' => '/'.ltrim($request->path(), '/'),
            'note' => mb_substr((string) $request->query('note', ''), 0, 200),
        ]);
        StampVisit::dispatch($visit->id);

        return view('visits', [
            'visit' => $visit,
            'visits' => Visit::latest('id')->limit(20)->get(),
            'total' => Visit::count(),
        ]);
    }
}
